/// The OpenCL C sources of every kernel family, embedded in the binary so that `gputrain`
/// runs from any directory. The files are next to this one, in `Kernels/`.
public enum KernelSources {
    /// Kernel family name (the file name without `.cl`) → OpenCL C source.
    public static let files: [String: String] = [
        "matmul": text(PackageResources.matmul_cl),
        "elementwise": text(PackageResources.elementwise_cl),
        "activations": text(PackageResources.activations_cl),
        "softmax": text(PackageResources.softmax_cl),
        "normalization": text(PackageResources.normalization_cl),
        "embedding": text(PackageResources.embedding_cl),
        "attention": text(PackageResources.attention_cl),
        "optimizer": text(PackageResources.optimizer_cl),
    ]

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
