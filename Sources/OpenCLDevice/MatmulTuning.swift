import Foundation

/// The two matmul kernel designs of `Kernels/matmul.cl`.
public enum MatmulKernelDesign: String, Sendable, CaseIterable, Codable {
    /// BLIS-style: A packed into row panels, B packed per work-item into local memory, an
    /// MR×NR register micro-kernel. For CPU devices (PoCL), where a work-group is a thread.
    case packed
    /// Local-memory tiles with a small register block per work-item. For GPUs.
    case tiled
}

/// The tile sizes of the matmul kernels for one device: the `-D` defines of `Kernels/matmul.cl`
/// (see the comments there), chosen from the variant and what the device reports.
public struct MatmulTuning: Sendable, Equatable, Codable {
    // Packed (CPU) design.
    var mr: Int
    var nr: Int
    var vectorWidth: Int
    var kc: Int
    /// Most columns of one strip of a work-item's block of C; its packed B block takes kc·strip
    /// floats of local memory.
    var strip: Int
    // Tiled (GPU) design.
    var tileM: Int
    var tileN: Int
    var tileK: Int
    var workPerItemM: Int
    var workPerItemN: Int

    /// Row panels of one A item are padded to a multiple of `mr`.
    func panels(rows m: Int) -> Int { (m + mr - 1) / mr }

    /// The compile-time defines: both designs live in one program, so both sets are always given.
    var defines: [String: String] {
        [
            "MR": "\(mr)", "NR": "\(nr)", "VW": "\(vectorWidth)", "KC": "\(kc)", "STRIP": "\(strip)",
            "TILE_M": "\(tileM)", "TILE_N": "\(tileN)", "TILE_K": "\(tileK)",
            "WPT_M": "\(workPerItemM)", "WPT_N": "\(workPerItemN)",
        ]
    }

    /// Work-group shape of the tiled kernel.
    var tiledLocal: [Int] { [tileN / workPerItemN, tileM / workPerItemM, 1] }

    /// Why these sizes cannot build or run on a device with `localMemoryBytes` of local memory
    /// and work-groups of at most `maxWorkGroupSize` (the constraints of `Kernels/matmul.cl`),
    /// or nil when they can.
    func problem(localMemoryBytes: Int, maxWorkGroupSize: Int) -> String? {
        let positive = [mr, nr, vectorWidth, kc, strip, tileM, tileN, tileK, workPerItemM, workPerItemN]
        if positive.contains(where: { $0 < 1 || $0 > 4096 }) { return "every size must be in 1…4096" }
        if ![1, 2, 4, 8, 16].contains(vectorWidth) { return "vectorWidth must be 1, 2, 4, 8 or 16" }
        if nr % vectorWidth != 0 { return "nr (\(nr)) must be a multiple of vectorWidth (\(vectorWidth))" }
        if kc % 8 != 0 { return "kc (\(kc)) must be a multiple of 8" }
        if strip % nr != 0 { return "strip (\(strip)) must be a multiple of nr (\(nr))" }
        if kc * strip * 4 > localMemoryBytes {
            return
                "the packed B block (kc·strip·4 = \(kc * strip * 4) bytes) exceeds the \(localMemoryBytes) bytes of local memory"
        }
        if tileM % workPerItemM != 0 || tileN % workPerItemN != 0 {
            return "tileM and tileN must be multiples of workPerItemM and workPerItemN"
        }
        if tiledLocal[0] * tiledLocal[1] > maxWorkGroupSize {
            return "the tiled work-group (\(tiledLocal[0] * tiledLocal[1])) exceeds the device's \(maxWorkGroupSize)"
        }
        if tileK * (tileM + tileN) * 4 > localMemoryBytes { return "the tiled kernel's tiles exceed local memory" }
        return nil
    }

    /// The tuning for a device. The CPU variant: a 6×16 micro-kernel of 8-wide vectors (12 AVX2
    /// registers of accumulators), or 8×32 of 16-wide ones where the device's native vectors hold
    /// 16 floats (AVX-512); a 256-deep slice of k and strips of up to 256 columns keep a
    /// work-item's B block (256 KiB) within its core's L2. The GPU variant: 64×64 tiles, 4×4 per
    /// work-item (halved until a tile's work-group fits `maxWorkGroupSize`); the packed kernel
    /// then gets small blocks so that its local array still fits and the program builds. Packed
    /// blocks shrink where the device has less local memory than their B block needs (PoCL has
    /// 512 KiB or more; other CPU runtimes may have as little as 32 KiB).
    static func forDevice(
        cpuVariant: Bool, nativeVectorWidth: Int, localMemoryBytes: Int = 512 * 1024, maxWorkGroupSize: Int = 1024
    ) -> MatmulTuning {
        var tuning = MatmulTuning(
            mr: 4, nr: 8, vectorWidth: 4, kc: 32, strip: 64,
            tileM: 64, tileN: 64, tileK: 16, workPerItemM: 4, workPerItemN: 4)
        if cpuVariant {
            (tuning.mr, tuning.nr, tuning.vectorWidth, tuning.kc, tuning.strip) =
                nativeVectorWidth >= 16 ? (8, 32, 16, 256, 256) : (6, 16, 8, 256, 256)
        }
        while tuning.kc * tuning.strip * 4 > localMemoryBytes, tuning.strip > tuning.nr { tuning.strip /= 2 }
        while tuning.kc * tuning.strip * 4 > localMemoryBytes, tuning.kc > 8 { tuning.kc /= 2 }
        while tuning.tiledLocal[0] * tuning.tiledLocal[1] > maxWorkGroupSize, tuning.tileM > tuning.workPerItemM {
            tuning.tileM /= 2
            tuning.tileN /= 2
        }
        return tuning
    }

    /// The sizes `gputrain tune` tries for one design on a device: micro-kernels, k-slices and
    /// strips for the packed design, tiles and work per item for the tiled one, each combined
    /// with the other design's sizes from `base`, and only those the device can run.
    public static func candidates(
        for design: MatmulKernelDesign, base: MatmulTuning, localMemoryBytes: Int, maxWorkGroupSize: Int
    ) -> [MatmulTuning] {
        var result: [MatmulTuning] = []
        switch design {
        case .packed:
            for (mr, nr, vw) in [(6, 16, 8), (8, 32, 16), (4, 16, 8), (8, 16, 8), (4, 32, 16)] {
                for kc in [128, 256, 384] {
                    for strip in [128, 256] {
                        var t = base
                        (t.mr, t.nr, t.vectorWidth, t.kc, t.strip) = (mr, nr, vw, kc, strip)
                        result.append(t)
                    }
                }
            }
        case .tiled:
            for (tileM, tileN) in [(64, 64), (32, 32), (64, 32), (32, 64), (128, 64)] {
                for tileK in [8, 16, 32] {
                    for (wm, wn) in [(4, 4), (2, 2), (8, 4)] {
                        var t = base
                        (t.tileM, t.tileN, t.tileK, t.workPerItemM, t.workPerItemN) = (tileM, tileN, tileK, wm, wn)
                        result.append(t)
                    }
                }
            }
        }
        var seen = Set<String>()
        return result.filter {
            $0.problem(localMemoryBytes: localMemoryBytes, maxWorkGroupSize: maxWorkGroupSize) == nil
                && seen.insert($0.summary(design)).inserted
        }
    }

    /// The defines of `design` that differ between candidates, as `NAME=value` pairs.
    public func summary(_ design: MatmulKernelDesign) -> String {
        let names =
            design == .packed ? ["MR", "NR", "VW", "KC", "STRIP"] : ["TILE_M", "TILE_N", "TILE_K", "WPT_M", "WPT_N"]
        return names.map { "\($0)=\(defines[$0] ?? "?")" }.joined(separator: " ")
    }

    /// How the packed kernel splits one product over work-items: blocks of `columnsPerItem`
    /// columns times blocks of `panelsPerItem` row panels, each taken in strips of `strip` columns.
    struct PackedPlan: Equatable {
        var columnsPerItem: Int
        var panelsPerItem: Int
        var strip: Int
        var columnBlocks: Int
        var rowBlocks: Int
    }

    /// The split of each of `items` products (the batch) over `cores` cores. PoCL hands the
    /// work-groups of a launch to its threads in chunks, so the plan makes as many equal work-items
    /// as there are cores (or a multiple): each core takes its share at once and none is left
    /// idle by an odd last item. Products are split by columns, where each block keeps at least
    /// 4 panels (each work-item packs only its own columns of B), else by rows.
    func packedPlan(m: Int, n: Int, items: Int, cores: Int) -> PackedPlan {
        let cores = max(1, cores)
        let panels = panels(rows: m)
        let columnPanels = (n + nr - 1) / nr
        var splits = 1
        while (items * splits) % cores != 0, items * splits < 4 * cores, splits < panels * columnPanels { splits += 1 }
        var (columnBlocks, rowBlocks) = (1, 1)
        if columnPanels >= 4 * splits || panels < splits {
            columnBlocks = min(splits, columnPanels)
        } else {
            rowBlocks = splits
        }
        let columnsPerItem = ((n + columnBlocks - 1) / columnBlocks + nr - 1) / nr * nr
        let panelsPerItem = (panels + rowBlocks - 1) / rowBlocks
        let stripsPerItem = (columnsPerItem + strip - 1) / strip
        return PackedPlan(
            columnsPerItem: columnsPerItem, panelsPerItem: panelsPerItem,
            strip: ((columnsPerItem + stripsPerItem - 1) / stripsPerItem + nr - 1) / nr * nr,
            columnBlocks: (n + columnsPerItem - 1) / columnsPerItem,
            rowBlocks: (panels + panelsPerItem - 1) / panelsPerItem)
    }
}

/// Per-device matmul state. An extension cannot add stored properties to `OpenCLDevice`, so it
/// lives in a side table keyed by the device: the packing scratch buffer (made through the device,
/// so it counts in `memoryInUse`, and reused by later calls). The design and tile sizes are part
/// of the device's `tuning`.
final class MatmulState {
    var scratch: OpenCLBuffer?

    private struct Entry {
        weak var device: OpenCLDevice?
        let state: MatmulState
    }

    private static var table: [ObjectIdentifier: Entry] = [:]
    private static let lock = NSLock()

    /// The state of `device`, made on first use. Entries of freed devices are dropped here.
    static func of(_ device: OpenCLDevice) -> MatmulState {
        lock.lock()
        defer { lock.unlock() }
        let key = ObjectIdentifier(device)
        if let entry = table[key], entry.device === device { return entry.state }
        table = table.filter { $0.value.device != nil }
        let state = MatmulState()
        table[key] = Entry(device: device, state: state)
        return state
    }
}
