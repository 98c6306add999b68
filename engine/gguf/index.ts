// Public surface of the GGUF tooling: write GGUF files, generate synthetic models, prune layers.
// Reading is node-llama-cpp's readGgufFileInfo, wrapped by readGgufFile.
export { GGUF_DEFAULT_ALIGNMENT, tensorByteLength, type WritableTensorType } from "./format.js";
export {
    gguf, encodeMetadataEntryToBuffer, type GgufMetadataEntry, type GgufMetadataValue, type EncodedMetadataEntry
} from "./metadata.js";
export {
    writeGgufFile, type GgufFileToWrite, type GgufTensorToWrite, type GgufWriteSummary, type TensorDataSink
} from "./writer.js";
export { readGgufFile, readTensorBytes, flattenGgufMetadata, type GgufFileContents, type ReadMetadataValue } from "./reader.js";
export { indexMetadataRecords, type MetadataRecordLocation } from "./kv-index.js";
export {
    writeSyntheticModel, syntheticModelPlanWithVocabulary, DEFAULT_WEIGHT_STD, SYNTHETIC_ARCHITECTURES,
    planSyntheticModel, stockSlidingWindowLayers, usesSlidingWindow,
    type SyntheticModelSummary, type SyntheticModelSpec, type SyntheticArchitecture, type SyntheticWeightType,
    type AttentionType
} from "./synthetic.js";
export { writePrunedModel, PER_LAYER_METADATA_SUFFIXES, type PruneOptions, type PruneSummary } from "./prune.js";
