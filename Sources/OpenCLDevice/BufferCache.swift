import COpenCL

/// Allocations whose buffers were freed, kept for reuse by the next `makeBuffer` of the same
/// byte size (PyTorch's caching allocator, in its simplest form).
///
/// Why: a training step allocates and frees the same few hundred activation and gradient
/// buffers every step. On PoCL each fresh allocation is fresh host memory that the zero fill
/// then page-faults in (about a tenth of a CPU training step went to the kernel's page
/// clearing); a reused allocation is already mapped. Reuse is safe without waiting because the
/// queue is in order: the new owner's commands (first the zero fill) run after every command
/// of the old owner.
///
/// The cache holds at most `limit` bytes, dropping the oldest entries beyond it, so shapes
/// that never recur (growing sequences) cannot pile up; the device empties it before
/// reporting that memory ran out.
struct BufferCache {
    private var entries: [(bytes: Int, memory: cl_mem)] = []
    /// Bytes held.
    private(set) var bytes = 0

    /// A cached allocation of exactly `bytes`, most recently freed first, removed from the cache.
    mutating func take(bytes wanted: Int) -> cl_mem? {
        guard let index = entries.lastIndex(where: { $0.bytes == wanted }) else { return nil }
        bytes -= wanted
        return entries.remove(at: index).memory
    }

    /// Keeps `memory` (an allocation of `size` bytes) for reuse, then releases the oldest
    /// entries until at most `limit` bytes are held.
    mutating func put(_ memory: cl_mem, bytes size: Int, limit: Int) {
        entries.append((size, memory))
        bytes += size
        while bytes > limit, !entries.isEmpty {
            let oldest = entries.removeFirst()
            bytes -= oldest.bytes
            clReleaseMemObject(oldest.memory)
        }
    }

    /// Releases every cached allocation.
    mutating func releaseAll() {
        entries.forEach { clReleaseMemObject($0.memory) }
        entries = []
        bytes = 0
    }
}
