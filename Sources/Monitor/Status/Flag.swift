import Synchronization

/// A one-way flag: false until `set`, then true for good.
public final class Flag: Sendable {
    private let value = Atomic<Bool>(false)

    public init() {}

    public func set() { value.store(true, ordering: .releasing) }

    public var isSet: Bool { value.load(ordering: .acquiring) }

    /// Sets the flag; `true` for the one caller that set it first.
    public func claim() -> Bool {
        !value.exchange(true, ordering: .acquiringAndReleasing)
    }
}
