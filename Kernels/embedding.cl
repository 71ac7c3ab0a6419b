// embedding.cl: kernels of the embedding family. See the Swift reference in Sources/ReferenceDevice.
