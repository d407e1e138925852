/// Values kept in an array, found by key: one hash lookup gives a value's position, and the
/// value is changed in place through it. The array holds exactly its values, where a dictionary
/// of large values keeps room for up to twice as many (its buckets are a power of two): the
/// per-check tables (live status, history) keep a state of 100–170 bytes for each of up to
/// 20,000 checks.
struct KeyedArray<Key: Hashable, Value> {
    /// The values in the order their keys were added. Change them in place through a position;
    /// add them only with `position(of:orAppend:)`, which keeps the positions right.
    var values: [Value] = []
    private var positions: [Key: Int] = [:]

    init(capacity: Int = 0) {
        values.reserveCapacity(capacity)
        positions.reserveCapacity(capacity)
    }

    /// Where `key`'s value is, or `nil` when the key was never added.
    func position(of key: Key) -> Int? { positions[key] }

    /// Where `key`'s value is, appending `make()` first when the key is new.
    mutating func position(of key: Key, orAppend make: () -> Value) -> Int {
        if let position = positions[key] { return position }
        positions[key] = values.count
        values.append(make())
        return values.count - 1
    }
}

extension KeyedArray: Sendable where Key: Sendable, Value: Sendable {}
