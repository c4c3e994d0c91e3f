;; Names global 0 and 4 although it declares no global: in the metered module those indices are the
;; sandbox's fuel balance and write tracker, so running this would refill its fuel and hide its writes.
;; The original module does not validate, and a plugin is compiled as published before it is metered.
(module
  (memory (export "memory") 1)
  (func (export "forgeone_abi_version") (result i32) i32.const 1)
  (func (export "forgeone_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "run") (param i32 i32) (result i64)
    (global.set 0 (i64.const 1000000000000))
    (global.set 4 (i32.const 0))
    (i64.const 0))
)
