import Core

/// Elementwise closeness with an absolute and a relative part: |a − b| ≤ atol + rtol·|b|.
public struct Tolerance: Sendable {
    public var absolute: Float
    public var relative: Float

    public init(absolute: Float, relative: Float) {
        self.absolute = absolute
        self.relative = relative
    }

    /// The kernels-versus-reference tolerance of the acceptance criteria.
    public static let kernel = Tolerance(absolute: 1e-5, relative: 1e-4)

    /// The first index where `actual` and `expected` differ by more than the tolerance, with a
    /// message naming it; `nil` when they agree everywhere (and have equal lengths).
    public func firstMismatch(_ actual: [Float], _ expected: [Float]) -> String? {
        guard actual.count == expected.count else {
            return "lengths differ: \(actual.count) vs \(expected.count)"
        }
        for i in actual.indices {
            let a = actual[i]
            let b = expected[i]
            if a.isNaN && b.isNaN { continue }
            if a.isNaN != b.isNaN || !(abs(a - b) <= absolute + relative * abs(b)) && !(a == b) {
                return "element \(i): \(a) vs expected \(b) (|diff| \(abs(a - b)) > \(absolute) + \(relative)·|b|)"
            }
        }
        return nil
    }
}
