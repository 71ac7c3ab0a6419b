#!/bin/bash
# cmp.sh "M K N op" variant... : one line per variant: kernel vs OpenBLAS, best GFLOP per CPU-second
# (1 thread), which load from other processes disturbs least. A variant is "file.cl [DEFINE=v ...]".
shape=$1; shift
for variant in "$@"; do
  set -- $variant; file=$1; shift
  line=$(POCL_MAX_PTHREAD_COUNT=1 ./lab -f $file -t 1 -r ${REPEATS:-9} $shape "$@" 2>/dev/null | tr '\n' ' ')
  echo "$shape $file $* |$(echo "$line" | grep -o 'strip [0-9]* panels/item [0-9]*') |$(echo "$line" | grep -o 'per CPU-second.*' | sed 's/per CPU-second://')"
done
