import Core

/// The fused AdamW update: `Kernels/optimizer.cl`, specified by `Reference+Optimizer.swift`.
extension OpenCLDevice {
    /// Work-items per group of `adamw_step`, and elements per work-item: PoCL runs float8 as
    /// SIMD code (about twice as fast as float4 there); a GPU coalesces one float per work-item.
    private var adamWTuning: (group: Int, vectorWidth: Int) {
        rowKernelsUseCPUTuning ? (group: 64, vectorWidth: 8) : (group: 256, vectorWidth: 1)
    }

    public func adamW(
        parameters: DeviceBuffer, gradients: DeviceBuffer, firstMoment: DeviceBuffer, secondMoment: DeviceBuffer,
        count: Int, decayCount: Int, step: AdamWStep
    ) throws {
        let operation = "adamW"
        try BufferChecks.requirePositive(["count": count, "step.step": step.step], in: operation)
        guard 0...count ~= decayCount else {
            throw DeviceError.invalidArgument(
                operation: operation, message: "decayCount \(decayCount) is outside 0...\(count)")
        }
        guard count <= Int(Int32.max) - 8 else {
            throw DeviceError.invalidArgument(
                operation: operation, message: "count \(count) exceeds the kernel's int32 indices")
        }
        for buffer in [parameters, gradients, firstMoment, secondMoment] {
            try BufferChecks.require(buffer, holds: count, in: operation)
        }
        let (group, width) = adamWTuning
        try launch(
            "optimizer", "adamw_step", defines: ["ADAMW_WG": String(group), "ADAMW_VEC": String(width)],
            global: [roundUp((count + width - 1) / width, toMultipleOf: group)], local: [group],
            arguments: [
                .buffer(parameters), .buffer(gradients), .buffer(firstMoment), .buffer(secondMoment),
                .int(count), .int(decayCount), .float(1 - step.learningRate * step.weightDecay),
                .float(step.beta1), .float(step.beta2), .float(step.epsilon),
                .float(step.learningRate / step.biasCorrection1), .float(step.biasCorrection2Sqrt),
            ],
            operation: operation)
    }
}
