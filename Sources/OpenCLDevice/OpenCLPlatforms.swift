import COpenCL
import Core

/// What `gputrain devices` shows about one OpenCL device.
public struct OpenCLDeviceInfo: Sendable, Codable, Equatable {
    /// Position in the flat list over all platforms (what `--device N` selects).
    public var index: Int
    public var platform: String
    public var name: String
    /// "gpu", "cpu" or "other".
    public var type: String
    public var vendor: String
    public var computeUnits: Int
    public var globalMemoryBytes: Int
    public var openCLCVersion: String
    /// `CL_DRIVER_VERSION`: with the name, what a remembered self-check or tuning is keyed by.
    public var driverVersion: String
    /// `CL_DEVICE_LOCAL_MEM_SIZE`: the tiles of the matmul, attention and packed kernels fit in it.
    public var localMemoryBytes: Int
    /// `CL_DEVICE_MAX_WORK_GROUP_SIZE`: no kernel's work-group is larger.
    public var maxWorkGroupSize: Int
    /// `CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT`: floats per SIMD register (16 where a CPU runtime
    /// compiles for AVX-512), which sizes the CPU matmul's register micro-kernel.
    public var nativeFloatVectorWidth: Int
}

/// Enumerates the OpenCL platforms and devices installed on this machine.
public enum OpenCLPlatforms {
    /// One entry per device, with its OpenCL handle.
    struct Entry {
        var info: OpenCLDeviceInfo
        var platform: cl_platform_id
        var device: cl_device_id
    }

    /// Every device of every platform; `noOpenCLPlatform` when there is none.
    public static func list() throws -> [OpenCLDeviceInfo] { try entries().map(\.info) }

    /// The device chosen when none is named: the first GPU, else the first device (PoCL's CPU).
    public static func defaultIndex(in infos: [OpenCLDeviceInfo]) -> Int? {
        infos.first(where: { $0.type == "gpu" })?.index ?? infos.first?.index
    }

    /// The device that `selector` names: an index, or a case-insensitive substring of the
    /// device or platform name; `nil` picks the default.
    public static func select(_ selector: String?) throws -> OpenCLDeviceInfo {
        let infos = try list()
        guard let selector, !selector.isEmpty else {
            guard let index = defaultIndex(in: infos) else { throw DeviceError.noOpenCLPlatform }
            return infos[index]
        }
        if let index = Int(selector), infos.indices.contains(index) { return infos[index] }
        let needle = selector.lowercased()
        if let match = infos.first(where: {
            $0.name.lowercased().contains(needle) || $0.platform.lowercased().contains(needle)
        }) {
            return match
        }
        throw DeviceError.deviceNotFound(selector: selector, available: infos.map { "\($0.index): \($0.name)" })
    }

    static func entries() throws -> [Entry] {
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        // The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR (-1001) when no driver is installed.
        guard status == CL_SUCCESS, platformCount > 0 else { throw DeviceError.noOpenCLPlatform }
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        try check(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs", "listing platforms")
        var result: [Entry] = []
        for case let platform? in platforms {
            let platformName = try platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            var deviceCount: cl_uint = 0
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount) == CL_SUCCESS,
                deviceCount > 0
            else { continue }
            var devices = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            try check(
                clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &devices, nil),
                "clGetDeviceIDs", "listing devices")
            for case let device? in devices {
                let type: cl_device_type = try deviceValue(device, cl_device_info(CL_DEVICE_TYPE))
                let info = OpenCLDeviceInfo(
                    index: result.count,
                    platform: platformName,
                    name: try deviceString(device, cl_device_info(CL_DEVICE_NAME)),
                    type: type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0
                        ? "gpu"
                        : type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 ? "cpu" : "other",
                    vendor: try deviceString(device, cl_device_info(CL_DEVICE_VENDOR)),
                    computeUnits: Int(try deviceValue(device, cl_device_info(CL_DEVICE_MAX_COMPUTE_UNITS)) as cl_uint),
                    globalMemoryBytes: Int(
                        try deviceValue(device, cl_device_info(CL_DEVICE_GLOBAL_MEM_SIZE)) as cl_ulong),
                    openCLCVersion: try deviceString(device, cl_device_info(CL_DEVICE_OPENCL_C_VERSION)),
                    driverVersion: try deviceString(device, cl_device_info(CL_DRIVER_VERSION)),
                    localMemoryBytes: Int(
                        try deviceValue(device, cl_device_info(CL_DEVICE_LOCAL_MEM_SIZE)) as cl_ulong),
                    maxWorkGroupSize: Int(
                        try deviceValue(device, cl_device_info(CL_DEVICE_MAX_WORK_GROUP_SIZE)) as Int),
                    nativeFloatVectorWidth: Int(
                        try deviceValue(device, cl_device_info(CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT)) as cl_uint))
                result.append(Entry(info: info, platform: platform, device: device))
            }
        }
        guard !result.isEmpty else { throw DeviceError.noOpenCLPlatform }
        return result
    }

    static func platformString(_ platform: cl_platform_id, _ param: cl_platform_info) throws -> String {
        var size = 0
        try check(clGetPlatformInfo(platform, param, 0, nil, &size), "clGetPlatformInfo", "reading platform info")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try check(clGetPlatformInfo(platform, param, size, &bytes, nil), "clGetPlatformInfo", "reading platform info")
        return trimmed(bytes)
    }

    static func deviceString(_ device: cl_device_id, _ param: cl_device_info) throws -> String {
        var size = 0
        try check(clGetDeviceInfo(device, param, 0, nil, &size), "clGetDeviceInfo", "reading device info")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try check(clGetDeviceInfo(device, param, size, &bytes, nil), "clGetDeviceInfo", "reading device info")
        return trimmed(bytes)
    }

    static func deviceValue<T: FixedWidthInteger>(_ device: cl_device_id, _ param: cl_device_info) throws -> T {
        var value: T = 0
        try check(
            clGetDeviceInfo(device, param, MemoryLayout<T>.size, &value, nil), "clGetDeviceInfo", "reading device info")
        return value
    }

    private static func trimmed(_ bytes: [CChar]) -> String {
        String(decoding: bytes.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingCharacters(in: " ")
    }
}

/// Throws `DeviceError.openCL` naming the call and the operation unless `status` is success.
func check(_ status: cl_int, _ call: String, _ operation: String) throws {
    guard status == CL_SUCCESS else { throw DeviceError.openCL(call: call, code: status, operation: operation) }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
