#include <stdio.h>
int main(void) { puts("efs-latency-fs: not built yet"); return 1; }
