"""statwarehouse: monthly figures of the provincial Departments of Industry and Trade,
from landing folder to star schema, rollups and plan gap."""

__version__ = "0.1.0"
