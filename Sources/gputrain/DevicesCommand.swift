import ArgumentParser
import Runtime

/// `gputrain devices`: lists OpenCL platforms and devices and marks the default.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "List the OpenCL platforms and devices, marking the default.")

    @Flag(help: "Print one JSON array of device objects.")
    var json = false

    func run() throws {
        let listing = try DeviceListing()
        print(json ? try listing.json() : listing.text())
    }
}
