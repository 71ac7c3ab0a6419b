import Foundation
import Optimizers
import XCTest

/// The schedules against the transformers formulas (docs/formats.md §6.9), step 0 being the first update.
final class LearningRateScheduleTests: XCTestCase {
    func testCosineWithWarmup() {
        let schedule = LearningRateSchedule.cosine(warmupSteps: 10, totalSteps: 110)
        XCTAssertEqual(schedule.multiplier(atStep: 0), 0)
        XCTAssertEqual(schedule.multiplier(atStep: 5), 0.5, accuracy: 1e-7)
        XCTAssertEqual(schedule.multiplier(atStep: 10), 1, accuracy: 1e-7)
        XCTAssertEqual(schedule.multiplier(atStep: 35), Float(0.5 * (1 + cos(Double.pi * 0.25))), accuracy: 1e-6)
        XCTAssertEqual(schedule.multiplier(atStep: 60), 0.5, accuracy: 1e-6)
        XCTAssertEqual(schedule.multiplier(atStep: 110), 0, accuracy: 1e-7)
        XCTAssertEqual(schedule.learningRate(base: 3e-4, atStep: 60), 1.5e-4, accuracy: 1e-9)
    }

    func testLinearWithWarmup() {
        let schedule = LearningRateSchedule.linear(warmupSteps: 4, totalSteps: 24)
        XCTAssertEqual(schedule.multiplier(atStep: 1), 0.25)
        XCTAssertEqual(schedule.multiplier(atStep: 4), 1)
        XCTAssertEqual(schedule.multiplier(atStep: 14), 0.5)
        XCTAssertEqual(schedule.multiplier(atStep: 24), 0)
        XCTAssertEqual(schedule.multiplier(atStep: 30), 0, "never negative")
    }

    func testNoWarmupAndConstant() {
        XCTAssertEqual(LearningRateSchedule.linear(warmupSteps: 0, totalSteps: 10).multiplier(atStep: 0), 1)
        XCTAssertEqual(LearningRateSchedule.cosine(warmupSteps: 0, totalSteps: 10).multiplier(atStep: 0), 1)
        XCTAssertEqual(LearningRateSchedule.constant.multiplier(atStep: 1000), 1)
        XCTAssertEqual(LearningRateSchedule.constantWithWarmup(warmupSteps: 2).multiplier(atStep: 1), 0.5)
        XCTAssertEqual(LearningRateSchedule.constantWithWarmup(warmupSteps: 2).multiplier(atStep: 2), 1)
    }
}
