/// The element type of a device buffer. Tensors are float32; token ids, targets and masks are int32.
public enum DType: String, Sendable {
    case float32
    case int32

    /// Bytes per element.
    public var size: Int { 4 }
}

/// A block of memory owned by a `Device`, or a view into one (see `Device.makeView`).
///
/// Buffers are opaque to training code: only the device that made a buffer can read, write or
/// compute with it. A buffer counts elements, not bytes.
public protocol DeviceBuffer: AnyObject {
    /// Number of elements.
    var count: Int { get }
    /// Element type.
    var dtype: DType { get }
    /// What the buffer holds, for error messages and memory reports (e.g. "h.0.attn.c_attn.weight").
    var label: String { get }
}
