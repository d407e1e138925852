/// Values kept in an array, found by key: one hash lookup gives a value's position, and the
/// value is changed in place through it. The array holds exactly its values, where a dictionary
/// of large values keeps room for up to twice as many (its buckets are a power of two): the
/// per-check tables (live status, history) keep a state of 100–170 bytes for each of up to
/// 20,000 checks.
///
/// A caller that knows where a key was added passes that place as a `hint`: when the key there
/// is the one asked for, that is the position, found by one comparison instead of hashing the
/// key. The per-check tables are filled in the order of the configured checks, and the
/// scheduler hands each result's place in that order along with it.
struct KeyedArray<Key: Hashable, Value> {
    /// The values in the order their keys were added. Change them in place through a position;
    /// add them only with `position(of:orAppend:)`, which keeps the positions right.
    var values: [Value] = []
    /// The key of each value, at its position.
    private(set) var keys: [Key] = []
    private var positions: [Key: Int] = [:]

    init(capacity: Int = 0) {
        values.reserveCapacity(capacity)
        keys.reserveCapacity(capacity)
        positions.reserveCapacity(capacity)
    }

    /// Where `key`'s value is, or `nil` when the key was never added.
    func position(of key: Key, hint: Int = -1) -> Int? {
        if hint >= 0 && hint < keys.count && keys[hint] == key { return hint }
        return positions[key]
    }

    /// Where `key`'s value is, appending `make()` first when the key is new.
    mutating func position(of key: Key, hint: Int = -1, orAppend make: () -> Value) -> Int {
        if let position = position(of: key, hint: hint) { return position }
        positions[key] = values.count
        keys.append(key)
        values.append(make())
        return values.count - 1
    }
}

extension KeyedArray: Sendable where Key: Sendable, Value: Sendable {}
