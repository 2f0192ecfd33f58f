// Placeholder translation unit for layers without sources yet.
