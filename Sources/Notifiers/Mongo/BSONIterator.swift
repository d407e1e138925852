internal import CMongo

/// A `bson_iter_t` with storage Swift can hand to libbson: the C type is 128-byte aligned, so
/// Swift sees it as opaque and cannot place it on the stack itself.
final class BSONIterator {
    let pointer: OpaquePointer
    private let storage: UnsafeMutableRawPointer

    init() {
        storage = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 128)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: 128)
        pointer = OpaquePointer(storage)
    }

    deinit {
        storage.deallocate()
    }

    /// Positions on `key` at the top level of `document`; `false` when absent.
    func find(_ key: String, in document: BSONDocument) -> Bool {
        bson_iter_init_find(pointer, document.pointer, key)
    }

    /// Starts iterating `document` (call `next()` for the first element).
    func start(_ document: BSONDocument) -> Bool {
        bson_iter_init(pointer, document.pointer)
    }

    /// An iterator over the array or document at the current position, or `nil`.
    func children() -> BSONIterator? {
        let child = BSONIterator()
        return bson_iter_recurse(pointer, child.pointer) ? child : nil
    }

    func next() -> Bool { bson_iter_next(pointer) }

    var key: String { String(cString: bson_iter_key(pointer)) }
    var type: bson_type_t { bson_iter_type(pointer) }
    /// The current value as an integer (numbers and booleans convert).
    var int: Int { Int(bson_iter_as_int64(pointer)) }
    /// The current value when it is text, else `nil`.
    var string: String? {
        guard type == BSON_TYPE_UTF8 else { return nil }
        var length: UInt32 = 0
        guard let text = bson_iter_utf8(pointer, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: Int(length)), as: UTF8.self)
    }
}
