// libsqlite3, the journal's storage. Debian: libsqlite3-dev.
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro Swift cannot import; this hands it over as a value.
static inline sqlite3_destructor_type ysync_sqlite_transient(void) { return SQLITE_TRANSIENT; }
