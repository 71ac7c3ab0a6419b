import Core
import Datasets

/// The fixed word lists that the tiny world draws attribute values from, and the invented
/// names of its entities.
enum Vocabulary {
    static let languages = [
        "Orvan", "Selti", "Marrish", "Quell", "Tambic", "Drovian", "Lunese", "Kesh", "Ildari", "Pohan",
    ]
    static let foods = [
        "berries", "fish", "seeds", "grass", "insects", "mushrooms", "roots", "honey", "leaves", "nuts",
        "snails", "clover",
    ]
    static let colors = ["red", "blue", "green", "yellow", "black", "white", "grey", "orange", "purple", "brown"]
    static let habitats = [
        "forest", "desert", "river", "mountains", "swamp", "meadow", "caves", "coast", "tundra", "jungle",
    ]
    static let professions = [
        "baker", "farmer", "painter", "sailor", "teacher", "doctor", "miner", "weaver", "potter",
        "singer", "carpenter", "fisher",
    ]
    static let firstNames = [
        "Ada", "Bram", "Cora", "Dov", "Elin", "Finn", "Gala", "Hugo", "Ines", "Joss", "Kira", "Lev",
        "Mira", "Nico", "Olga", "Pim", "Rhea", "Sven", "Tova", "Ugo", "Vera", "Wim", "Yara", "Zeno",
    ]
    /// Everyday words for the string tasks (reversal, spelling, counting letters).
    static let words = [
        "lamp", "river", "stone", "garden", "window", "candle", "basket", "mirror", "ladder", "pocket",
        "button", "kettle", "pillow", "rocket", "tunnel", "violin", "wallet", "anchor", "bridge",
        "castle", "dragon", "forest", "guitar", "hammer", "island", "jacket", "magnet", "needle",
        "orange", "parrot", "rabbit", "saddle", "throne", "walnut", "yellow", "zipper", "cloud", "frost",
    ]
}

/// Invented, pronounceable, unique names ("Varn", "Tolbek"), built from syllables.
struct NameGenerator {
    private static let onsets = [
        "b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gl",
        "kr", "st", "th", "tr", "sh",
    ]
    private static let vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ei"]
    private static let codas = ["", "", "n", "r", "l", "k", "s", "th", "m", "x"]
    private var used: Set<String> = []

    /// A name not handed out before, of a random number of syllables within `syllables`.
    mutating func next(syllables: ClosedRange<Int>, using random: inout SeededGenerator) -> String {
        while true {
            let count = Int.random(in: syllables, using: &random)
            var name = ""
            for index in 0..<count {
                name += Self.onsets.randomElement(using: &random)! + Self.vowels.randomElement(using: &random)!
                if index == count - 1 || Bool.random(using: &random) {
                    name += Self.codas.randomElement(using: &random)!
                }
            }
            let capitalized = name.prefix(1).uppercased() + name.dropFirst()
            if capitalized.count >= 3, used.insert(capitalized.lowercased()).inserted { return capitalized }
        }
    }
}
