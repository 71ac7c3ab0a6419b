import ArgumentParser
import Runtime

/// `gputrain devices`: lists OpenCL platforms and devices and marks the default.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "devices", abstract: "List OpenCL devices.")

    @Flag(help: "Print one JSON array of devices.")
    var json = false

    func run() throws {
        print("devices: not yet")
    }
}
