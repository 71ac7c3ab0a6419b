import XCTest
final class FormatsTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
