// Bundles built by test/e2e/support.ts embed imported .wasm files as bytes.
declare module "*.wasm" {
  const bytes: Uint8Array;
  export default bytes;
}
