import Foundation
import Inference
import XCTest

/// `gputrain generate --data`'s batch plan and row seeds (the command itself is tested in
/// `GenerateDataCommandTests`).
final class GenerationPlanTests: XCTestCase {
    func testBatchesAreFixedByRowNumber() {
        let plan = GenerationPlan(prompts: 5, samples: 2, batchSize: 4, seed: 0)
        XCTAssertEqual(plan.rowCount, 10)
        XCTAssertEqual(plan.batchCount, 3)
        XCTAssertEqual((0..<3).map(plan.rows(ofBatch:)), [0..<4, 4..<8, 8..<10])
        XCTAssertTrue(plan.item(ofRow: 5) == (2, 1))
        XCTAssertEqual([0, 3, 4, 7, 9, 10, 12].map(plan.wholeBatchRows(in:)), [0, 0, 4, 4, 8, 10, 10])
    }

    /// The values of the documented mixing function, computed apart (Python, SplitMix64):
    /// changing them would make every earlier output file resume with other draws.
    func testRowSeedsArePinned() {
        XCTAssertEqual(GenerationPlan.rowSeed(seed: 0, index: 0, sample: 0), 0x2382_75bc_38fc_be91)
        XCTAssertEqual(GenerationPlan.rowSeed(seed: 0, index: 1, sample: 0), 0x44e5_b981_00c6_7fb0)
        XCTAssertEqual(GenerationPlan.rowSeed(seed: 0, index: 0, sample: 1), 0x2f32_a784_96c6_7c60)
        XCTAssertEqual(GenerationPlan.rowSeed(seed: 42, index: 7, sample: 3), 0xf55e_4254_d465_5539)
        let plan = GenerationPlan(prompts: 10, samples: 4, batchSize: 3, seed: 42)
        XCTAssertEqual(plan.seed(ofRow: 31), 0xf55e_4254_d465_5539, "row 31 is prompt 7, sample 3")
    }
}
