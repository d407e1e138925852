#include <sqlite3.h>

// Binds `length` bytes of UTF-8 text (no terminating NUL needed), copied by SQLite
// (SQLITE_TRANSIENT is a cast macro Swift cannot import); a NULL `text` binds the empty string,
// not SQL NULL.
static inline int hm_sqlite3_bind_text_n(sqlite3_stmt *statement, int index, const char *text, int length) {
    return sqlite3_bind_text(statement, index, text ? text : "", text ? length : 0, SQLITE_TRANSIENT);
}

// Binds `length` bytes of UTF-8 text without a copy (SQLITE_STATIC): `text` must stay valid and
// unchanged until the statement is stepped and reset, and bound again before its next step.
static inline int hm_sqlite3_bind_text_static(sqlite3_stmt *statement, int index, const char *text, int length) {
    return sqlite3_bind_text(statement, index, text ? text : "", text ? length : 0, SQLITE_STATIC);
}
