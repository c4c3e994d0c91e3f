;; Declares ABI version 2.
(module
  (memory (export "memory") 1 4)
  (func (export "forgeone_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "forgeone_abi_version") (result i32) i32.const 2)
  (func (export "run") (param i32 i32) (result i64) (i64.const 0))
)
