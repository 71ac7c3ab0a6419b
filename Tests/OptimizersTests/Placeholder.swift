import XCTest
final class OptimizersTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
