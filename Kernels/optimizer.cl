// optimizer.cl: kernels of the optimizer family. See the Swift reference in Sources/ReferenceDevice.
