// swift-tools-version: 6.1
// gputrain: train language models end to end with OpenCL kernels. See ARCHITECTURE.md.
import PackageDescription

/// The kernel families, one `.cl` file each, embedded in the binary.
let kernelFiles = [
    "matmul.cl", "elementwise.cl", "activations.cl", "softmax.cl",
    "normalization.cl", "embedding.cl", "attention.cl", "optimizer.cl",
]

/// The shipped recipes, embedded in the binary as its built-in defaults.
let recipeFiles = [
    "tiny-world.yaml", "tiny-world-pretrain.yaml", "tiny-world-sft.yaml", "tiny-world-sft-lora.yaml",
    "tiny-world-reward.yaml", "tiny-world-dpo.yaml", "tiny-world-ppo.yaml", "tiny-world-grpo.yaml",
    "smoke.yaml", "gpt2-small.yaml", "llama-small.yaml",
]

let package = Package(
    name: "gputrain",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "gputrain", targets: ["gputrain"]),
        .executable(name: "gputrain-fuzz", targets: ["Fuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swhitty/FlyingFox", exact: "0.27.1"),
    ],
    targets: [
        .systemLibrary(name: "COpenCL", path: "Sources/COpenCL"),
        .target(
            name: "KernelSources",
            path: "Kernels",
            resources: kernelFiles.map { .embedInCode($0) }
        ),
        .target(
            name: "BuiltInRecipes", path: "configs", exclude: ["constitutions"],
            resources: recipeFiles.map { .embedInCode($0) }),
        .target(name: "Core"),
        .target(name: "ReferenceDevice", dependencies: ["Core"]),
        .target(name: "OpenCLDevice", dependencies: ["Core", "COpenCL", "KernelSources"]),
        .target(name: "Tensors", dependencies: ["Core"]),
        .target(name: "Formats", dependencies: ["Core"]),
        .target(name: "Models", dependencies: ["Core", "Tensors", "Formats"]),
        .target(name: "Optimizers", dependencies: ["Core", "Tensors"]),
        .target(name: "Datasets", dependencies: ["Core", "Formats"]),
        .target(name: "TinyWorld", dependencies: ["Core", "Formats", "Datasets", "Models", "Tensors"]),
        .target(name: "Inference", dependencies: ["Core", "Tensors", "Models", "Formats", "Datasets"]),
        .target(
            name: "Training",
            dependencies: [
                "Core", "Tensors", "Models", "Optimizers", "Formats", "Datasets", "TinyWorld", "Inference",
                "BuiltInRecipes",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "AIFeedback",
            dependencies: [
                "Core", "Formats", "Datasets", "Models", "Tensors", "Inference", "TinyWorld",
                .product(name: "Yams", package: "Yams"),
            ]),
        .target(
            name: "Pipeline",
            dependencies: [
                "Core", "Formats", "Datasets", "Models", "Tensors", "TinyWorld", "Inference", "Training", "AIFeedback",
            ]),
        .target(
            name: "HumanFeedback",
            dependencies: [
                "Core", "Formats", "Datasets", "Models", "Inference",
                .product(name: "FlyingFox", package: "FlyingFox"),
            ],
            resources: [.embedInCode("LabelPage.html")]
        ),
        .target(name: "Runtime", dependencies: ["Core", "Formats", "ReferenceDevice", "OpenCLDevice"]),
        .target(
            name: "Benchmarking",
            dependencies: [
                "Core", "OpenCLDevice", "Runtime", "Tensors", "Models", "Optimizers", "Datasets", "Training",
            ]
        ),
        .executableTarget(
            name: "gputrain",
            dependencies: [
                "Runtime", "Benchmarking", "Core", "Tensors", "Datasets", "TinyWorld", "Inference", "Training",
                "Pipeline", "AIFeedback", "HumanFeedback",
                "Models", "Formats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "Fuzzing", dependencies: ["Formats", "Datasets", "Training", "HumanFeedback"]),
        .target(
            name: "TestSupport",
            dependencies: ["Core", "Tensors", "Models", "ReferenceDevice", "OpenCLDevice", "Runtime"],
            path: "Tests/TestSupport"),
        .testTarget(
            name: "KernelTests", dependencies: ["TestSupport", "Core", "ReferenceDevice", "OpenCLDevice"],
            exclude: ["make_adamw_fixture.py"]),
        .testTarget(
            name: "TensorsTests", dependencies: ["TestSupport", "Core", "Tensors", "ReferenceDevice", "OpenCLDevice"]),
        .testTarget(
            name: "OptimizersTests",
            dependencies: ["TestSupport", "Core", "Tensors", "Optimizers", "ReferenceDevice", "OpenCLDevice"],
            exclude: ["Fixtures/README.md"]),
        .testTarget(name: "FormatsTests", dependencies: ["TestSupport", "Formats"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DatasetsTests", dependencies: ["TestSupport", "Datasets", "TinyWorld"]),
        .testTarget(
            name: "ModelsTests",
            dependencies: [
                "TestSupport", "Core", "Tensors", "Models", "Optimizers", "Formats", "ReferenceDevice", "OpenCLDevice",
            ], exclude: ["make_generation_fixture.py", "make_whole_model_fixture.py", "Fixtures"]),
        .testTarget(
            name: "TrainingTests",
            dependencies: [
                "TestSupport", "Training", "TinyWorld", "Inference", "Pipeline", "Datasets", "Models", "Tensors",
                "Core", "OpenCLDevice", "ReferenceDevice",
            ], exclude: ["make_loss_fixtures.py", "make_trl_fixtures.py"]),
        .testTarget(
            name: "CLITests", dependencies: ["TestSupport", "Benchmarking", "Models", "Formats", "Core"],
            exclude: ["Shims", "label_browser.py"]),
    ],
    // Swift 5 mode: the device objects are used from one thread at a time, and strict
    // concurrency checking would add annotations without catching real races here.
    swiftLanguageModes: [.v5]
)
