/* A shared object that is not a PKCS#11 module (no C_GetFunctionList), for
 * the "not a PKCS#11 module" tests; built as $(BUILD)/t/p11/libnotp11.so. */
int enf_not_a_module(void);
int enf_not_a_module(void) { return 0; }
