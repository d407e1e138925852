extension Dictionary {
    /// Where `key`'s value is, inserting `make()` first when it is missing: for a value changed
    /// in place through `values[index]`, one hash lookup when the key is there. (The
    /// `self[key, default: make()]` form heap-allocated its default's closure on every access,
    /// whether or not the key was there: counted with a uprobe on `malloc`.)
    @inline(__always)
    mutating func index(forKey key: Key, orInsert make: () -> Value) -> Index {
        if let index = index(forKey: key) { return index }
        self[key] = make()
        return index(forKey: key)!
    }
}
