"""Everything that speaks SQL: the index (`index`) and row-level work on data files (`rows`)."""
