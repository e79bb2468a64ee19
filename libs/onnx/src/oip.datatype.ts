/**
 * onnxruntime's tensor element types and the Open Inference Protocol datatypes (the names KServe/Triton
 * clients send) — one table for every service that describes or serves ONNX models.
 */
export const OIP_DATATYPE_OF_ORT: Readonly<Record<string, string>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

/** The OIP datatype of an onnxruntime type, or undefined when the protocol cannot carry it. */
export function oipDatatypeOf(ortType: string): string | undefined {
  return Object.hasOwn(OIP_DATATYPE_OF_ORT, ortType) ? OIP_DATATYPE_OF_ORT[ortType] : undefined;
}

/** The onnxruntime type of an OIP datatype, or undefined. */
export function ortTypeOf(datatype: string): string | undefined {
  return Object.entries(OIP_DATATYPE_OF_ORT).find(([, oip]) => oip === datatype)?.[0];
}
