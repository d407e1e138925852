/// The outcome of one check run.
public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
    case success
    case failure
}
