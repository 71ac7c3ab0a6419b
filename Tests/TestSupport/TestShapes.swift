import Foundation

/// The size of the kernel tests' problems. GPUTRAIN_TEST_SHAPES=small gives reduced shapes, for
/// slow devices such as Oclgrind, which interprets every work-item (scripts/test.sh); unset, the
/// full shapes. The small shapes still cross every tile and work-group boundary: sizes that are
/// not multiples of a tile or vector width, and more than one tile or work-group.
public enum TestShapes {
    /// Whether GPUTRAIN_TEST_SHAPES=small.
    public static let small: Bool = {
        switch ProcessInfo.processInfo.environment["GPUTRAIN_TEST_SHAPES"] {
        case nil, "", "full": return false
        case "small": return true
        case let other?: fatalError("GPUTRAIN_TEST_SHAPES is '\(other)'; it may be 'small', 'full' or unset")
        }
    }()

    /// `full`, or `reduced` under GPUTRAIN_TEST_SHAPES=small.
    public static func pick<T>(_ full: T, small reduced: T) -> T { small ? reduced : full }
}
