import Core

/// The fused AdamW update: `Kernels/optimizer.cl`, specified by `Reference+Optimizer.swift`.
extension OpenCLDevice {
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
        let adamW = tuning.rowKernels.adamW
        let (group, width) = (adamW.group, adamW.vectorWidth)
        try launch(
            "optimizer", "adamw_step", defines: adamW.defines,
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
