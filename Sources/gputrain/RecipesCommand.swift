import ArgumentParser
import Training

/// `gputrain recipes [NAME]`: the recipes built into the binary, which `--config NAME` takes.
struct RecipesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipes", abstract: "List the built-in recipes, or print one (what --config NAME runs).")

    @Argument(help: "A built-in recipe to print.")
    var name: String?

    func run() throws {
        guard let name else {
            print(RecipeSource.builtInNames.joined(separator: "\n"))
            return
        }
        guard let recipe = RecipeSource.builtIn(name) else {
            throw ValidationError(
                "no built-in recipe '\(name)'; the built-in recipes are \(RecipeSource.builtInNames.joined(separator: ", "))"
            )
        }
        print(recipe.text, terminator: "")
    }
}
