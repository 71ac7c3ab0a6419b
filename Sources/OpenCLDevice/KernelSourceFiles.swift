import Core
import Foundation
import KernelSources

/// The OpenCL C sources a device compiles: the embedded `Kernels/*.cl`, each replaced by the file
/// of the same name in the folder `GPUTRAIN_KERNEL_SOURCES` names, if any. The override is for
/// kernel work and for proving the self-check: a kernel edited on disk runs without rebuilding
/// gputrain, and the self-check's record is keyed by the sources, so an edit is checked anew.
public enum KernelSourceFiles {
    public static let environmentVariable = "GPUTRAIN_KERNEL_SOURCES"

    /// Family name → source: the embedded files with the overrides of `environment` applied. A
    /// folder that cannot be read, or a `.cl` file in it that is no kernel family, is an error.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> [String: String]
    {
        var files = KernelSources.files
        guard let folder = environment[environmentVariable], !folder.isEmpty else { return files }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".cl") }
        } catch {
            throw DeviceError.invalidArgument(
                operation: environmentVariable,
                message: "cannot read the folder '\(folder)': \(error.localizedDescription)")
        }
        for name in names.sorted() {
            let family = String(name.dropLast(3))
            guard files[family] != nil else {
                throw DeviceError.invalidArgument(
                    operation: environmentVariable,
                    message: "\(folder)/\(name) is not a kernel family; name it after one of "
                        + KernelSources.files.keys.sorted().map { "\($0).cl" }.joined(separator: ", "))
            }
            let url = URL(fileURLWithPath: folder).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path),
                let text = String(data: data, encoding: .utf8)
            else {
                throw DeviceError.invalidArgument(
                    operation: environmentVariable, message: "cannot read \(url.path) as UTF-8")
            }
            files[family] = text
        }
        return files
    }
}
