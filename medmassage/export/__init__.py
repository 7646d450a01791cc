"""Out of the folder (SPEC §10): a chart as FHIR R4 bundles for the patient's other
providers, a de-identified copy of the store for case studies, and the chart released to
the patient. Exports read the store through the validation façade and write only under
the folder the user names."""
