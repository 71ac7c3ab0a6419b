import Core
import Foundation

/// Every kernel family's launch parameters for one device: the one table that decides the `-D`
/// defines, work-group sizes and kernel designs of all OpenCL kernels. `forDevice` computes it
/// from what the device reports when it opens (`OpenCLDevice.tuning`); the kernel launchers
/// read it and nothing else.
///
/// The values decide the order in which floats are summed, so a run is bit-identical only on
/// devices given the same tuning. Tests replace parts of a device's tuning to run the other
/// device kind's configuration on PoCL.
public struct DeviceTuning: Sendable, Equatable, Codable {
    /// The matmul kernel design: `.packed` on CPUs, `.tiled` on GPUs.
    public var matmulDesign: MatmulKernelDesign
    /// The tile sizes of both matmul designs (both live in one program).
    public var matmul: MatmulTuning
    /// The attention tile sizes before they are fitted to local memory (see `attention(headDim:)`).
    public var attention: AttentionTuning
    /// `CL_DEVICE_LOCAL_MEM_SIZE`: `attention(headDim:)` fits the attention tiles to it (the
    /// matmul tiles were fitted when the table was made).
    public var localMemoryBytes: Int
    /// The softmax, normalisation and optimizer kernels' geometry.
    public var rowKernels: RowKernelTuning
    /// The elementwise, activation and embedding kernels' geometry.
    public var elementwise: ElementwiseTuning

    /// The tuning for the device `info` describes, running the `kernels` variants (`auto`: the
    /// GPU variants unless the device reports itself as a CPU). Only what the device reports
    /// decides, never its name: the CPU variants (a work-group runs as a loop on one core, so few
    /// work-items with wide vectors) take their matmul micro-kernel from the native vector
    /// width; the GPU variants (wide groups of scalar work-items, which coalesce) take their tile
    /// sizes as they are; both are fitted to the device's local memory and largest work-group.
    public static func forDevice(_ info: OpenCLDeviceInfo, kernels: KernelVariant = .auto) -> DeviceTuning {
        let gpu = kernels.usesGPUKernels(deviceType: info.type)
        let group = max(1, info.maxWorkGroupSize)
        var rowKernels = gpu ? RowKernelTuning.gpu : .cpu
        // 16-float SIMD (AVX-512): float16 halves the instructions of softmax's exp-bound rows.
        if !gpu, info.nativeFloatVectorWidth >= 16 { rowKernels.softmax.vectorWidth = 16 }
        return DeviceTuning(
            matmulDesign: gpu ? .tiled : .packed,
            matmul: MatmulTuning.forDevice(
                cpuVariant: !gpu, nativeVectorWidth: info.nativeFloatVectorWidth,
                localMemoryBytes: info.localMemoryBytes, maxWorkGroupSize: group),
            attention: (gpu ? AttentionTuning.gpu : .cpu).fitted(maxWorkGroupSize: group),
            localMemoryBytes: info.localMemoryBytes,
            rowKernels: rowKernels.fitted(maxWorkGroupSize: group),
            elementwise: (gpu ? ElementwiseTuning.gpu : .cpu).fitted(maxWorkGroupSize: group))
    }

    /// The kernel variant this tuning runs (`cpu` or `gpu`; the matmul design follows it).
    public var variant: KernelVariant { matmulDesign == .packed ? .cpu : .gpu }

    /// The attention tile sizes for `headDim`: `attention`, with local-memory tiles wherever rows
    /// cannot be read in place, halved until two of them fit the device's local memory.
    public func attention(headDim: Int) -> AttentionTuning {
        var tuning = attention
        // Rows read straight from global memory must be whole vectors of 8.
        if headDim % 8 != 0 { tuning.localTiles = true }
        guard tuning.localTiles else { return tuning }
        let paddedDim = roundUp(headDim, toMultipleOf: 8)
        // Each kernel holds two tiles of [rows][paddedDim] floats; leave room for the compiler's own use.
        func fitting(_ rows: Int) -> Int {
            var rows = rows
            while rows > 8, 2 * rows * paddedDim * 4 > localMemoryBytes - 1024 { rows /= 2 }
            return rows
        }
        tuning.keyTile = fitting(tuning.keyTile)
        tuning.queryTile = fitting(tuning.queryTile)
        return tuning
    }
}

/// Launch geometry of the kernels that give each row (or run of elements) to one work-group:
/// `softmax.cl`, `normalization.cl` and `optimizer.cl` (see each file's header).
public struct RowKernelTuning: Sendable, Equatable, Codable {
    var softmax: SoftmaxTuning
    var normalization: NormalizationTuning
    var adamW: AdamWTuning

    /// CPUs (PoCL): a few work-items with float8 vectors, which PoCL runs as SIMD code; softmax
    /// rows go to one work-item each, which streams them (1.3× faster cross-entropy than eight).
    public static let cpu = RowKernelTuning(
        softmax: SoftmaxTuning(rowGroup: 1, vectorWidth: 8, elementGroup: 64),
        normalization: NormalizationTuning(rowGroup: 8, vectorWidth: 8, parameterColumns: 8, parameterLanes: 1),
        adamW: AdamWTuning(group: 64, vectorWidth: 8))
    /// GPUs: many work-items per row, one float each, which coalesce.
    public static let gpu = RowKernelTuning(
        softmax: SoftmaxTuning(rowGroup: 256, vectorWidth: 1, elementGroup: 256),
        normalization: NormalizationTuning(rowGroup: 128, vectorWidth: 1, parameterColumns: 32, parameterLanes: 8),
        adamW: AdamWTuning(group: 256, vectorWidth: 1))

    /// These sizes with every work-group halved until it fits `maxWorkGroupSize`.
    func fitted(maxWorkGroupSize limit: Int) -> RowKernelTuning {
        var tuning = self
        tuning.softmax.rowGroup = halved(rowGroup: softmax.rowGroup, toFit: limit)
        tuning.softmax.elementGroup = halved(rowGroup: softmax.elementGroup, toFit: limit)
        tuning.normalization.rowGroup = halved(rowGroup: normalization.rowGroup, toFit: limit)
        while tuning.normalization.parameterColumns * tuning.normalization.parameterLanes > limit {
            if tuning.normalization.parameterLanes > 1 {
                tuning.normalization.parameterLanes /= 2
            } else {
                tuning.normalization.parameterColumns /= 2
            }
        }
        tuning.adamW.group = halved(rowGroup: adamW.group, toFit: limit)
        return tuning
    }
}

/// `size` (a power of two) halved until it is at most `limit` (at least 1).
func halved(rowGroup size: Int, toFit limit: Int) -> Int {
    var size = size
    while size > limit, size > 1 { size /= 2 }
    return size
}

/// Launch geometry of softmax.cl (see the file's header).
struct SoftmaxTuning: Sendable, Equatable, Codable {
    /// Work-items per row in the row kernels.
    var rowGroup: Int
    /// Floats per vector load (1, 8 or 16): on a CPU, 8 or 16 (the SIMD width) make PoCL run
    /// the row as SIMD code; a GPU coalesces one float per work-item best.
    var vectorWidth: Int
    /// Work-items per group of the elementwise cross_entropy_backward.
    var elementGroup: Int

    var defines: [String: String] {
        [
            "SOFTMAX_WG": String(rowGroup), "SOFTMAX_VEC": String(vectorWidth),
            "CE_BACKWARD_WG": String(elementGroup),
        ]
    }
}

/// Launch geometry of normalization.cl (see the file's header). On PoCL float8 vectors run as
/// SIMD code, 2–4× faster there.
struct NormalizationTuning: Sendable, Equatable, Codable {
    /// Work-items per row and floats per vector load in the row kernels.
    var rowGroup: Int
    var vectorWidth: Int
    /// Work-items along the columns (`vectorWidth` columns each) and row lanes per column in
    /// the parameter-gradient kernels.
    var parameterColumns: Int
    var parameterLanes: Int

    var defines: [String: String] {
        [
            "NORM_WG": String(rowGroup), "NORM_VEC": String(vectorWidth),
            "NORM_PARAM_COLUMNS": String(parameterColumns), "NORM_PARAM_LANES": String(parameterLanes),
        ]
    }
}

/// Launch geometry of optimizer.cl's `adamw_step`: PoCL runs float8 as SIMD code (about twice as
/// fast as float4 there); a GPU coalesces one float per work-item.
struct AdamWTuning: Sendable, Equatable, Codable {
    /// Work-items per group.
    var group: Int
    /// Elements per work-item.
    var vectorWidth: Int

    var defines: [String: String] { ["ADAMW_WG": String(group), "ADAMW_VEC": String(vectorWidth)] }
}

/// Launch geometry of `elementwise.cl`, `activations.cl` and `embedding.cl`.
public struct ElementwiseTuning: Sendable, Equatable, Codable {
    /// Work-items per group: 256 vectorizes well on PoCL (one float4 each, so 4 KiB of floats
    /// per group) and is a good occupancy unit on GPUs.
    var localSize: Int
    /// float4 chunks per work-item of a `sum_of_squares_partials` tile on GPUs (SOS_CHUNKS).
    var squaresChunks: Int
    /// Rows each `reduce_sum_segments` work-item sums per pass (REDUCE_SEGMENT).
    var reduceSegment: Int
    /// Whether reductions give each work-item contiguous runs (CPUs stream them best): whole
    /// rows in `reduce_sum_rows`, and a few groups of runs in `sum_of_squares_partials`
    /// (SOS_CONTIGUOUS). Otherwise they take tiles and segments, which parallelize any shape.
    public var contiguousRuns: Bool

    /// CPUs (PoCL).
    public static let cpu = ElementwiseTuning(
        localSize: 256, squaresChunks: 16, reduceSegment: 64, contiguousRuns: true)
    /// GPUs.
    public static let gpu = ElementwiseTuning(
        localSize: 256, squaresChunks: 16, reduceSegment: 64, contiguousRuns: false)

    /// These sizes with the work-group halved until it fits `maxWorkGroupSize`.
    func fitted(maxWorkGroupSize limit: Int) -> ElementwiseTuning {
        var tuning = self
        tuning.localSize = halved(rowGroup: localSize, toFit: limit)
        return tuning
    }

    /// The `-D` tunables of `elementwise.cl` and `activations.cl`.
    var defines: [String: String] {
        [
            "LOCAL_SIZE": "\(localSize)", "SOS_CHUNKS": "\(squaresChunks)",
            "SOS_CONTIGUOUS": contiguousRuns ? "1" : "0", "REDUCE_SEGMENT": "\(reduceSegment)",
        ]
    }
}

/// How Kernels/attention.cl is run: group sizes (local sizes) and tile sizes (`-D` defines).
public struct AttentionTuning: Sendable, Equatable, Codable {
    /// Work-items (query rows) per group of the forward and dq kernels; fewer when there are
    /// fewer query rows.
    public var queryGroup: Int
    /// Keys per tile of the forward and dq kernels (KEY_TILE, a multiple of 8).
    public var keyTile: Int
    /// Work-items (key rows) per group of the dk/dv kernel; fewer when there are fewer keys.
    public var keyGroup: Int
    /// Query rows per tile of the dk/dv kernel (QUERY_TILE, a multiple of 8).
    public var queryTile: Int
    /// Whether tiles are copied to local memory (LOCAL_TILES; any head dim) or their rows read
    /// from global memory (head dims that are multiples of 8).
    public var localTiles: Bool

    public init(queryGroup: Int, keyTile: Int, keyGroup: Int, queryTile: Int, localTiles: Bool) {
        self.queryGroup = queryGroup
        self.keyTile = keyTile
        self.keyGroup = keyGroup
        self.queryTile = queryTile
        self.localTiles = localTiles
    }

    /// CPUs (PoCL): local memory is ordinary memory, so rows are read in place; a group's
    /// work-items run one after another on one core, reusing each tile from the cache.
    public static let cpu = AttentionTuning(queryGroup: 64, keyTile: 32, keyGroup: 64, queryTile: 32, localTiles: false)
    /// GPUs: groups of 64 work-items share each tile through local memory.
    public static let gpu = AttentionTuning(queryGroup: 64, keyTile: 32, keyGroup: 64, queryTile: 32, localTiles: true)

    /// These sizes with the work-groups halved until they fit `maxWorkGroupSize`.
    func fitted(maxWorkGroupSize limit: Int) -> AttentionTuning {
        var tuning = self
        tuning.queryGroup = halved(rowGroup: queryGroup, toFit: limit)
        tuning.keyGroup = halved(rowGroup: keyGroup, toFit: limit)
        return tuning
    }

    /// The sizes `gputrain tune` tries on a device whose work-groups hold `maxWorkGroupSize`.
    public static func candidates(maxWorkGroupSize: Int) -> [AttentionTuning] {
        var result: [AttentionTuning] = []
        for group in [32, 64, 128] where group <= maxWorkGroupSize {
            for keyTile in [16, 32, 64] {
                for queryTile in [16, 32] {
                    for localTiles in [false, true] {
                        result.append(
                            AttentionTuning(
                                queryGroup: group, keyTile: keyTile, keyGroup: group, queryTile: queryTile,
                                localTiles: localTiles))
                    }
                }
            }
        }
        return result
    }

    /// The sizes as `NAME=value` pairs.
    public var summary: String {
        "QUERY_GROUP=\(queryGroup) KEY_TILE=\(keyTile) KEY_GROUP=\(keyGroup) QUERY_TILE=\(queryTile) LOCAL_TILES=\(localTiles ? 1 : 0)"
    }

    /// Whether the kernels can run with these sizes for `headDim`.
    func isUsable(headDim: Int) -> Bool {
        queryGroup > 0 && keyGroup > 0 && keyTile > 0 && queryTile > 0 && keyTile % 8 == 0 && queryTile % 8 == 0
            && (localTiles || headDim % 8 == 0)
    }

    /// Local size of a kernel over `rows` rows with groups of up to `group`: few rows (decoding)
    /// get a smaller power of two (at least 8), so that few sizes need compiling.
    static func localSize(_ group: Int, rows: Int) -> Int {
        var size = 8
        while size < rows, size < group { size *= 2 }
        return min(size, group)
    }

    func defines(headDim: Int) -> [String: String] {
        [
            "HEAD_DIM": "\(headDim)", "KEY_TILE": "\(keyTile)", "QUERY_TILE": "\(queryTile)",
            "LOCAL_TILES": localTiles ? "1" : "0",
        ]
    }
}

/// The sizes at which a tuning's kernels move to another block, tile, slice or work-group: the
/// self-check's shapes cross each of them.
public struct BlockingSizes: Sendable, Equatable {
    /// The packed matmul's micro-kernel (MR×NR), k-slice (KC) and strip; the tiled one's tiles.
    public var mr, nr, kc, strip, tileM, tileN, tileK: Int
    /// Work-items per row times floats per vector in softmax and cross-entropy.
    public var softmaxGroup, softmaxVector: Int
    /// The same in the normalisations, and the parameter-gradient columns and row lanes.
    public var normGroup, normVector, parameterColumns, parameterLanes: Int
    /// AdamW's work-items per group and floats per work-item.
    public var adamWGroup, adamWVector: Int
    /// The elementwise kernels' group, the sum-of-squares tile chunks and the segment length.
    public var elementwiseGroup, squaresChunks, reduceSegment: Int
    /// Attention's query and key groups and tiles.
    public var attentionRows: Int
}

extension DeviceTuning {
    /// The sizes where this tuning's blocking changes (`BlockingSizes`).
    public var blocking: BlockingSizes {
        let r = rowKernels
        return BlockingSizes(
            mr: matmul.mr, nr: matmul.nr, kc: matmul.kc, strip: matmul.strip, tileM: matmul.tileM, tileN: matmul.tileN,
            tileK: matmul.tileK, softmaxGroup: r.softmax.rowGroup, softmaxVector: r.softmax.vectorWidth,
            normGroup: r.normalization.rowGroup, normVector: r.normalization.vectorWidth,
            parameterColumns: r.normalization.parameterColumns, parameterLanes: r.normalization.parameterLanes,
            adamWGroup: r.adamW.group, adamWVector: r.adamW.vectorWidth, elementwiseGroup: elementwise.localSize,
            squaresChunks: elementwise.squaresChunks, reduceSegment: elementwise.reduceSegment,
            attentionRows: max(attention.queryGroup, attention.keyGroup, attention.keyTile, attention.queryTile))
    }
}
