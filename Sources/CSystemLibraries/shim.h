// The C libraries poisonlab uses, from Debian's packages:
//   libblas-dev (CBLAS; OpenBLAS behind libblas.so.3 when libopenblas0-pthread
//   is installed), liblapacke-dev (LAPACKE) and zlib1g-dev (gzip).
#include <cblas.h>
#include <lapacke.h>
#include <zlib.h>
