/// The shipped recipes (the `.yaml` files beside this one), embedded in the binary as the
/// kernels are, so that `gputrain pipeline` and `--config tiny-world-sft` give the same run from
/// any folder.
public enum BuiltInRecipes {
    /// Recipe name (the file name without `.yaml`) → YAML text.
    public static let files: [String: String] = [
        "tiny-world": text(PackageResources.tiny_world_yaml),
        "tiny-world-pretrain": text(PackageResources.tiny_world_pretrain_yaml),
        "tiny-world-sft": text(PackageResources.tiny_world_sft_yaml),
        "tiny-world-sft-lora": text(PackageResources.tiny_world_sft_lora_yaml),
        "tiny-world-reward": text(PackageResources.tiny_world_reward_yaml),
        "tiny-world-dpo": text(PackageResources.tiny_world_dpo_yaml),
        "tiny-world-ppo": text(PackageResources.tiny_world_ppo_yaml),
        "tiny-world-grpo": text(PackageResources.tiny_world_grpo_yaml),
        "smoke": text(PackageResources.smoke_yaml),
        "gpt2-small": text(PackageResources.gpt2_small_yaml),
        "llama-small": text(PackageResources.llama_small_yaml),
    ]

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
