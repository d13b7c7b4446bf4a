// libsqlite3, the journal's storage. Debian: libsqlite3-dev.
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro Swift cannot import; this hands it over as a value.
static inline sqlite3_destructor_type ysync_sqlite_transient(void) { return SQLITE_TRANSIENT; }

// No initial bulk allocation of page-cache lines per connection (SQLite's default, 20 pages,
// ~87 KB each): the server keeps one connection open per loaded room and appends touch few
// pages. sqlite3_config is variadic, which Swift cannot call; it must run before the first
// open (SQLITE_MISUSE after, harmless).
static inline int ysync_sqlite_no_bulk_page_cache(void) { return sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)0, 0, 0); }
