"""Readers and writers of other tools' file formats (Label Studio), pure json + pyarrow."""
