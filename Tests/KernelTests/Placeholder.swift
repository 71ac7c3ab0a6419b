import XCTest
final class KernelTestsPlaceholder: XCTestCase { func testPlaceholder() {} }
