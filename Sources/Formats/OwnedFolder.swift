import Foundation

/// Folders gputrain makes (run folders, exported models), known by a marker file it writes
/// into each as it makes it. The marker is what lets `--overwrite` replace a folder: a folder
/// without it was not made by gputrain, and no command deletes it.
public enum OwnedFolder {
    /// The marker's name inside the folder.
    public static let markerName = ".gputrain"

    /// Whether gputrain made `url` (it holds the marker).
    public static func isOwned(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent(markerName).path)
    }

    /// Whether `url` is a folder with nothing in it.
    public static func isEmptyFolder(_ url: URL) -> Bool {
        (try? FileManager.default.contentsOfDirectory(atPath: url.path))?.isEmpty ?? false
    }

    /// Creates `url` (and its parents) with the marker saying it holds `what` (e.g. "run folder").
    /// An existing empty folder is taken over; any other existing path is an error.
    public static func create(_ url: URL, holding what: String) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) {
            guard isFolder.boolValue, isEmptyFolder(url) else {
                throw FormatError(file: url.path, "already exists; gputrain writes a \(what) only into a new folder")
            }
        }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try AtomicFile.write(Data("a \(what) made by gputrain\n".utf8), to: url.appendingPathComponent(markerName))
    }

    /// Removes `url` when gputrain made it (or it is an empty folder); does nothing when it does
    /// not exist. Anything else is refused with an error that names the folder, says why, and
    /// suggests `instead` (what the user can do).
    public static func remove(_ url: URL, instead: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else { return }
        guard isFolder.boolValue, isOwned(url) || isEmptyFolder(url) else {
            throw FormatError(
                file: url.path,
                "was not made by gputrain (it has no \(markerName) marker), so it is not removed; \(instead)")
        }
        try FileManager.default.removeItem(at: url)
    }
}
