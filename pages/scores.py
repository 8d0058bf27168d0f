import streamlit as st

st.title("Scores")
st.info("Coming in the dashboard issue.")
