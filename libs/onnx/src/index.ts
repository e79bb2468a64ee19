export { ModelBuilder, readModel, DEFAULT_IR_VERSION, DEFAULT_OPSET, type ArgMaxOptions, type Dim, type GemmOptions, type ModelBuilderOptions, type NodeOptions } from './model.builder.js';
export { attr, attributeProto, type AttributeValue } from './attribute.js';
export { dataTypeOf, OnnxBuildError, tensorProto, type DType, type TensorData } from './tensor.js';
export { OIP_DATATYPE_OF_ORT, oipDatatypeOf, ortTypeOf } from './oip.datatype.js';
export { seededRandom } from './random.js';
