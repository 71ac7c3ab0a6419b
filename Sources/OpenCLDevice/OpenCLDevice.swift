import COpenCL
import Core
import Foundation

/// A buffer in OpenCL device memory: a whole allocation, or a sub-buffer view of one.
public final class OpenCLBuffer: DeviceBuffer {
    public let memory: cl_mem
    public let count: Int
    public let dtype: DType
    public let label: String
    /// Keeps the parent allocation alive while a view of it exists.
    let parent: OpenCLBuffer?
    /// Takes over the memory when the buffer goes (the device's cache); nil releases it.
    private let onRelease: ((cl_mem) -> Void)?

    init(memory: cl_mem, count: Int, dtype: DType, label: String, parent: OpenCLBuffer?, onRelease: ((cl_mem) -> Void)?)
    {
        self.memory = memory
        self.count = count
        self.dtype = dtype
        self.label = label
        self.parent = parent
        self.onRelease = onRelease
    }

    deinit {
        if let onRelease { onRelease(memory) } else { clReleaseMemObject(memory) }
    }
}

/// The OpenCL device: any GPU, or a CPU through PoCL. Kernels come from `Kernels/*.cl`
/// (embedded), are compiled at run time with the `-D` defines of the device's `tuning`, and
/// are cached.
///
/// The operations live in one file per kernel family (`OpenCL+Matmul.swift`, …). None of
/// them ever falls back to the reference device; `launchCounts` lets tests prove a kernel ran.
/// An id outside its range (embedding ids, cross-entropy targets) is thrown by the next read or
/// `synchronize` rather than by the call, as the kernels find it (see `IDErrorRecord`).
public final class OpenCLDevice: Device {
    public let info: OpenCLDeviceInfo
    public var name: String { info.name }
    public let viewAlignment: Int
    public private(set) var memoryInUse = 0
    public private(set) var peakMemoryInUse = 0
    /// `CL_DEVICE_GLOBAL_MEM_SIZE`.
    public var memoryCapacity: Int? { info.globalMemoryBytes }
    /// Bytes of freed allocations kept for reuse (not part of `memoryInUse`).
    public var cachedBytes: Int { cache.bytes }
    /// Kernel name → number of launches since the device was made.
    public private(set) var launchCounts: [String: Int] = [:]
    /// Kernel name → total seconds measured by OpenCL events (only when made with `profiling`).
    public private(set) var kernelSeconds: [String: Double] = [:]
    /// True for CPU devices (PoCL). Kernels do not branch on it: `tuning` holds what differs.
    public var isCPU: Bool { info.type == "cpu" }
    /// Every kernel family's launch parameters on this device, chosen when it opens from what it
    /// reports and the kernel variant asked for (`DeviceTuning.forDevice`). Settable so that tests can run another device kind's
    /// configuration; it changes this device only.
    public var tuning: DeviceTuning
    /// The tuning file whose sizes `tuning` holds, if one applied (`TuningFile`).
    public private(set) var tuningFile: URL?
    /// The OpenCL C sources it compiles, family → text (`KernelSourceFiles`).
    public let kernelSources: [String: String]

    let device: cl_device_id
    let context: cl_context
    public let queue: cl_command_queue
    let profiling: Bool
    let maxAllocationBytes: Int
    let programs: ProgramCache
    private var cache = BufferCache()
    /// Where the id kernels record an id outside its range (see `IDErrorRecord`).
    let idErrors: OpenCLBuffer
    /// Whether an id kernel was queued since `idErrors` was last read.
    var idErrorsPending = false

    /// Opens the device that `selector` names (index or name substring; `nil` = default), to run
    /// the `kernels` variants (`nil`: as `GPUTRAIN_KERNELS` says, else `auto`).
    public convenience init(selector: String? = nil, profiling: Bool = false, kernels: KernelVariant? = nil) throws {
        let kernels = try kernels ?? KernelVariant.fromEnvironment(ProcessInfo.processInfo.environment)
        let chosen = try OpenCLPlatforms.select(selector)
        guard let entry = try OpenCLPlatforms.entries().first(where: { $0.info.index == chosen.index }) else {
            throw DeviceError.deviceNotFound(selector: selector ?? "default", available: [])
        }
        try self.init(entry: entry, profiling: profiling, kernels: kernels)
    }

    init(entry: OpenCLPlatforms.Entry, profiling: Bool, kernels: KernelVariant) throws {
        kernelSources = try KernelSourceFiles.load()
        info = entry.info
        device = entry.device
        self.profiling = profiling
        var status: cl_int = 0
        var deviceID: cl_device_id? = entry.device
        guard let context = clCreateContext(nil, 1, &deviceID, nil, nil, &status), status == CL_SUCCESS else {
            throw DeviceError.openCL(call: "clCreateContext", code: status, operation: "opening \(entry.info.name)")
        }
        self.context = context
        let properties: cl_command_queue_properties =
            profiling ? cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE) : 0
        guard let queue = clCreateCommandQueue(context, entry.device, properties, &status), status == CL_SUCCESS else {
            clReleaseContext(context)
            throw DeviceError.openCL(
                call: "clCreateCommandQueue", code: status, operation: "opening \(entry.info.name)")
        }
        self.queue = queue
        var zeros = [Int32](repeating: 0, count: IDErrorRecord.count)
        guard
            let record = clCreateBuffer(
                context, cl_mem_flags(CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR), zeros.count * 4, &zeros, &status),
            status == CL_SUCCESS
        else {
            clReleaseCommandQueue(queue)
            clReleaseContext(context)
            throw DeviceError.openCL(call: "clCreateBuffer", code: status, operation: "opening \(entry.info.name)")
        }
        idErrors = OpenCLBuffer(
            memory: record, count: zeros.count, dtype: .int32, label: "id errors", parent: nil, onRelease: nil)
        let alignBits: cl_uint = try OpenCLPlatforms.deviceValue(
            entry.device, cl_device_info(CL_DEVICE_MEM_BASE_ADDR_ALIGN))
        viewAlignment = max(1, Int(alignBits) / 8 / 4)
        maxAllocationBytes = Int(
            try OpenCLPlatforms.deviceValue(entry.device, cl_device_info(CL_DEVICE_MAX_MEM_ALLOC_SIZE)) as cl_ulong)
        programs = ProgramCache(
            context: context, device: entry.device, deviceName: entry.info.name, sources: kernelSources)
        tuning = DeviceTuning.forDevice(entry.info, kernels: kernels)
        if let url = TuningFile.url(for: entry.info, environment: ProcessInfo.processInfo.environment),
            let file = try TuningFile.load(url, for: entry.info)
        {
            let tuned = tuning.applying(file)
            if tuned != tuning { tuningFile = url }
            tuning = tuned
        }
    }

    deinit {
        clFinish(queue)
        cache.releaseAll()
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    // MARK: Memory

    public func makeBuffer(count: Int, dtype: DType, label: String) throws -> DeviceBuffer {
        let bytes = max(count, 1) * dtype.size
        guard count >= 0 else {
            throw DeviceError.invalidArgument(operation: "makeBuffer('\(label)')", message: "negative count \(count)")
        }
        let memory = try allocate(bytes: bytes, label: label)
        memoryInUse += bytes
        peakMemoryInUse = max(peakMemoryInUse, memoryInUse)
        // From here on a failure frees the buffer, which hands the memory back to the cache.
        let buffer = OpenCLBuffer(
            memory: memory, count: count, dtype: dtype, label: label, parent: nil,
            onRelease: { [weak self] memory in
                guard let self else {
                    clReleaseMemObject(memory)
                    return
                }
                memoryInUse -= bytes
                cache.put(memory, bytes: bytes, limit: peakMemoryInUse)
            })
        if dtype == .float32, count > 0, count <= 1 << 30 {
            // The fill kernel zeroes on every compute unit; PoCL runs clEnqueueFillBuffer on one
            // thread, about 2.5 times slower on two cores, and a training step zeroes every
            // activation and gradient it allocates.
            try fill(buffer, value: 0, offset: 0, count: count)
        } else {
            var zero: UInt32 = 0
            let status = clEnqueueFillBuffer(queue, memory, &zero, 4, 0, bytes, 0, nil, nil)
            guard status == CL_SUCCESS else {
                if status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES {
                    throw DeviceError.outOfMemory(label: label, bytes: bytes, inUse: memoryInUse)
                }
                throw DeviceError.openCL(call: "clEnqueueFillBuffer", code: status, operation: "allocating '\(label)'")
            }
        }
        return buffer
    }

    /// An allocation of `bytes`: a cached one of that size, else a new one (after emptying the
    /// cache when the device would otherwise run out).
    private func allocate(bytes: Int, label: String) throws -> cl_mem {
        if let memory = cache.take(bytes: bytes) { return memory }
        guard bytes <= maxAllocationBytes, memoryInUse + bytes <= info.globalMemoryBytes else {
            throw DeviceError.outOfMemory(label: label, bytes: bytes, inUse: memoryInUse)
        }
        if memoryInUse + cache.bytes + bytes > info.globalMemoryBytes { cache.releaseAll() }
        var status: cl_int = 0
        for attempt in 0..<2 {
            if let memory = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status),
                status == CL_SUCCESS
            {
                return memory
            }
            let outOfMemory =
                status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES
                || status == CL_OUT_OF_HOST_MEMORY || status == CL_INVALID_BUFFER_SIZE
            guard outOfMemory else { break }
            guard attempt == 0, cache.bytes > 0 else {
                throw DeviceError.outOfMemory(label: label, bytes: bytes, inUse: memoryInUse)
            }
            cache.releaseAll()
        }
        throw DeviceError.openCL(call: "clCreateBuffer", code: status, operation: "allocating '\(label)'")
    }

    public func makeView(of buffer: DeviceBuffer, offset: Int, count: Int, label: String) throws -> DeviceBuffer {
        let base = try own(buffer, "makeView('\(label)')")
        guard offset >= 0, count > 0, offset + count <= base.count, offset % viewAlignment == 0 else {
            throw DeviceError.invalidArgument(
                operation: "makeView('\(label)')",
                message:
                    "range \(offset)..<\(offset + count) of '\(base.label)' (\(base.count) elements) must lie inside it "
                    + "and start at a multiple of \(viewAlignment)")
        }
        // Views of views are views of the root allocation (OpenCL forbids sub-buffers of sub-buffers).
        var root = base
        var rootOffset = offset
        while let parent = root.parent {
            rootOffset += try subBufferOrigin(root) / root.dtype.size
            root = parent
        }
        var region = cl_buffer_region(origin: rootOffset * base.dtype.size, size: count * base.dtype.size)
        var status: cl_int = 0
        guard
            let memory = clCreateSubBuffer(
                root.memory, cl_mem_flags(CL_MEM_READ_WRITE),
                cl_buffer_create_type(CL_BUFFER_CREATE_TYPE_REGION), &region, &status),
            status == CL_SUCCESS
        else {
            throw DeviceError.openCL(call: "clCreateSubBuffer", code: status, operation: "viewing '\(label)'")
        }
        return OpenCLBuffer(memory: memory, count: count, dtype: base.dtype, label: label, parent: root, onRelease: nil)
    }

    private func subBufferOrigin(_ buffer: OpenCLBuffer) throws -> Int {
        var origin = 0
        try check(
            clGetMemObjectInfo(buffer.memory, cl_mem_info(CL_MEM_OFFSET), MemoryLayout<Int>.size, &origin, nil),
            "clGetMemObjectInfo", "viewing '\(buffer.label)'")
        return origin
    }

    public func write(_ values: [Float], to buffer: DeviceBuffer) throws {
        try upload(values, to: buffer, dtype: .float32)
    }

    public func write(_ values: [Int32], to buffer: DeviceBuffer) throws {
        try upload(values, to: buffer, dtype: .int32)
    }

    private func upload<T>(_ values: [T], to buffer: DeviceBuffer, dtype: DType) throws {
        let b = try own(buffer, "write")
        try BufferChecks.require(b, holds: values.count, of: dtype, in: "write to '\(b.label)'")
        guard !values.isEmpty else { return }
        try values.withUnsafeBytes { raw in
            try check(
                clEnqueueWriteBuffer(queue, b.memory, cl_bool(CL_TRUE), 0, raw.count, raw.baseAddress, 0, nil, nil),
                "clEnqueueWriteBuffer", "writing '\(b.label)'")
        }
    }

    public func readFloats(_ buffer: DeviceBuffer) throws -> [Float] {
        try download(buffer, dtype: .float32, zero: Float(0))
    }

    public func readInts(_ buffer: DeviceBuffer) throws -> [Int32] {
        try download(buffer, dtype: .int32, zero: Int32(0))
    }

    private func download<T>(_ buffer: DeviceBuffer, dtype: DType, zero: T) throws -> [T] {
        let b = try own(buffer, "read")
        try BufferChecks.require(b, holds: 0, of: dtype, in: "read '\(b.label)'")
        var values = [T](repeating: zero, count: b.count)
        if b.count > 0 {
            try values.withUnsafeMutableBytes { raw in
                try check(
                    clEnqueueReadBuffer(queue, b.memory, cl_bool(CL_TRUE), 0, raw.count, raw.baseAddress, 0, nil, nil),
                    "clEnqueueReadBuffer", "reading '\(b.label)'")
            }
        }
        try throwRecordedIDError()
        return values
    }

    public func synchronize() throws {
        try check(clFinish(queue), "clFinish", "waiting for the device")
        try throwRecordedIDError()
    }

    /// The buffer as this device's own, or `foreignBuffer`.
    public func own(_ buffer: DeviceBuffer, _ operation: String) throws -> OpenCLBuffer {
        guard let b = buffer as? OpenCLBuffer else {
            throw DeviceError.foreignBuffer(operation: operation, label: buffer.label)
        }
        return b
    }

    // MARK: Launching kernels

    /// Queues kernel `kernel` of family `family` (compiled with `defines`) over `global` work
    /// items (each dimension a multiple of `local` when given), with `arguments` in order.
    /// `operation` names the tensor operation in errors.
    func launch(
        _ family: String, _ kernel: String, defines: [String: String] = [:], global: [Int], local: [Int]? = nil,
        arguments: [KernelArgument], operation: String
    ) throws {
        let handle = try programs.kernel(family: family, name: kernel, defines: defines)
        for (index, argument) in arguments.enumerated() {
            let status: cl_int
            switch argument {
            case .buffer(let buffer):
                var memory: cl_mem? = try own(buffer, operation).memory
                status = clSetKernelArg(handle, cl_uint(index), MemoryLayout<cl_mem>.size, &memory)
            case .int(let value):
                var v = cl_int(truncatingIfNeeded: value)
                status = clSetKernelArg(handle, cl_uint(index), MemoryLayout<cl_int>.size, &v)
            case .uint(let value):
                var v = value
                status = clSetKernelArg(handle, cl_uint(index), MemoryLayout<cl_uint>.size, &v)
            case .ulong(let value):
                var v = value
                status = clSetKernelArg(handle, cl_uint(index), MemoryLayout<cl_ulong>.size, &v)
            case .float(let value):
                var v = value
                status = clSetKernelArg(handle, cl_uint(index), MemoryLayout<Float>.size, &v)
            case .local(let bytes):
                status = clSetKernelArg(handle, cl_uint(index), bytes, nil)
            }
            try check(status, "clSetKernelArg(\(kernel), \(index))", operation)
        }
        guard global.allSatisfy({ $0 > 0 }) else { return }
        var globalSizes = global
        var localSizes = local ?? []
        var event: cl_event?
        let status = withUnsafeMutablePointer(to: &event) { eventPointer in
            let eventOut = profiling ? eventPointer : nil
            return localSizes.isEmpty
                ? clEnqueueNDRangeKernel(queue, handle, cl_uint(global.count), nil, &globalSizes, nil, 0, nil, eventOut)
                : clEnqueueNDRangeKernel(
                    queue, handle, cl_uint(global.count), nil, &globalSizes, &localSizes, 0, nil, eventOut)
        }
        try check(status, "clEnqueueNDRangeKernel(\(kernel))", operation)
        launchCounts[kernel, default: 0] += 1
        if profiling, event != nil {
            defer { clReleaseEvent(event) }
            try check(clWaitForEvents(1, &event), "clWaitForEvents(\(kernel))", operation)
            var start: cl_ulong = 0
            var end: cl_ulong = 0
            clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START), 8, &start, nil)
            clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), 8, &end, nil)
            kernelSeconds[kernel, default: 0] += Double(end &- start) * 1e-9
        }
    }

    /// Forgets the launch counts and profile (tests and benchmarks start from zero).
    public func resetCounters() {
        launchCounts = [:]
        kernelSeconds = [:]
    }
}

/// One argument of a kernel launch, in the kernel's parameter order.
enum KernelArgument {
    case buffer(DeviceBuffer)
    /// A C `int`.
    case int(Int)
    /// A C `uint`.
    case uint(UInt32)
    /// A C `ulong`.
    case ulong(UInt64)
    case float(Float)
    /// `__local` memory of this many bytes.
    case local(Int)
}

/// Rounds `value` up to a multiple of `multiple` (global sizes must be multiples of local sizes).
func roundUp(_ value: Int, toMultipleOf multiple: Int) -> Int {
    (value + multiple - 1) / multiple * multiple
}
