// zlib, for reading gzipped traces. Debian: zlib1g-dev (on the Swift image already).
#include <zlib.h>
