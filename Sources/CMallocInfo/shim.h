// glibc's heap statistics; Swift's Glibc module does not export <malloc.h>.
#include <stddef.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/// Bytes of heap in use right now: chunks handed out by malloc plus mmapped chunks, summed over
/// all arenas (glibc's mallinfo2). 0 where the C library has no mallinfo2.
static inline size_t ysync_heap_bytes_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
#else
    return 0;
#endif
}
