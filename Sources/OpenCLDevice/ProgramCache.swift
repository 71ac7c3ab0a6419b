import COpenCL
import Core
import Foundation

/// Compiles kernel families on first use and keeps the programs and kernels, keyed by
/// (family, build options): the same file with other tile sizes is another program.
final class ProgramCache {
    private let context: cl_context
    private let device: cl_device_id
    private let deviceName: String
    /// Family name → OpenCL C source (`KernelSourceFiles`).
    private let sources: [String: String]
    private var programs: [String: cl_program] = [:]
    private var kernels: [String: cl_kernel] = [:]

    init(context: cl_context, device: cl_device_id, deviceName: String, sources: [String: String]) {
        self.context = context
        self.device = device
        self.deviceName = deviceName
        self.sources = sources
    }

    deinit {
        for kernel in kernels.values { clReleaseKernel(kernel) }
        for program in programs.values { clReleaseProgram(program) }
    }

    /// The families and build options compiled so far, as "family|options".
    var compiled: [String] { programs.keys.sorted() }

    /// The build options for `defines`: sorted, so equal sets give equal cache keys.
    static func options(_ defines: [String: String]) -> String {
        (["-cl-std=CL1.2"] + defines.sorted(by: { $0.key < $1.key }).map { "-D \($0.key)=\($0.value)" })
            .joined(separator: " ")
    }

    /// The kernel `name` of `family` built with `defines`.
    func kernel(family: String, name: String, defines: [String: String]) throws -> cl_kernel {
        let options = Self.options(defines)
        let key = "\(family)|\(options)|\(name)"
        if let kernel = kernels[key] { return kernel }
        let program = try self.program(family: family, options: options)
        var status: cl_int = 0
        guard let kernel = clCreateKernel(program, name, &status), status == CL_SUCCESS else {
            throw DeviceError.openCL(call: "clCreateKernel(\(name))", code: status, operation: "loading \(family).cl")
        }
        kernels[key] = kernel
        return kernel
    }

    /// Compiles `source` (not one of the embedded files) under `family`; for benchmarks' kernel variants.
    func program(family: String, options: String, source: String? = nil) throws -> cl_program {
        let key = "\(family)|\(options)"
        if let program = programs[key] { return program }
        guard let text = source ?? sources[family] else {
            throw DeviceError.invalidArgument(operation: "compiling kernels", message: "no kernel file \(family).cl")
        }
        var status: cl_int = 0
        let program: cl_program? = text.withCString { pointer in
            var source: UnsafePointer<CChar>? = pointer
            var length = strlen(pointer)
            return clCreateProgramWithSource(context, 1, &source, &length, &status)
        }
        guard let program, status == CL_SUCCESS else {
            throw DeviceError.openCL(
                call: "clCreateProgramWithSource", code: status, operation: "compiling \(family).cl")
        }
        var deviceID: cl_device_id? = device
        let build = clBuildProgram(program, 1, &deviceID, options, nil, nil)
        guard build == CL_SUCCESS else {
            let log = buildLog(program)
            clReleaseProgram(program)
            if build == CL_BUILD_PROGRAM_FAILURE || build == CL_INVALID_BUILD_OPTIONS {
                throw DeviceError.kernelBuildFailed(file: "\(family).cl", options: options, log: log)
            }
            throw DeviceError.openCL(
                call: "clBuildProgram", code: build, operation: "compiling \(family).cl for \(deviceName)")
        }
        programs[key] = program
        return program
    }

    private func buildLog(_ program: cl_program) -> String {
        var size = 0
        clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size)
        var bytes = [CChar](repeating: 0, count: size + 1)
        clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil)
        return String(decoding: bytes.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
